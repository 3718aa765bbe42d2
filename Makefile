# make run   — set up and start the workstation on its embedded hub
# make demo  — the same setup, then the demo for trainers (docs/TRAINERS.md)
# make test  — set up, then ruff, import-linter, mypy and the whole pytest suite
#              (PostgreSQL server and Debian's Chromium included), then the
#              screenshot test under Xvfb (test-output/screenshots/)
# make bench — the benchmarks (`workstation bench`)
# make bundle / deb / msi — the one-folder build, the Debian package, the Windows MSI (dist/);
# make installers — all three, then their tests (installs and removes the package: root)

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEB := installers/debian

.PHONY: run demo test lint bench soak system-run system-test system-bench clean \
	bundle deb msi installers system-installers

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when the project's dependencies change.
$(VENV)/.stamp-install: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

system-run:
	@bash $(DEB)/ensure-packages.sh $(DEB)/run-packages.txt

system-test:
	@bash $(DEB)/ensure-packages.sh $(DEB)/run-packages.txt $(DEB)/test-packages.txt

run: system-run $(VENV)/.stamp-install
	$(BIN)/workstation

# SCENARIO=sore-throat starts another shipped scenario (or a .toml file).
demo: system-run $(VENV)/.stamp-install
	$(BIN)/workstation --demo $(if $(SCENARIO),--scenario $(SCENARIO))

lint: $(VENV)/.stamp-install
	$(BIN)/ruff check workstation tests
	$(BIN)/lint-imports
	$(BIN)/mypy

# The screenshot test needs a real X screen: it runs apart, under Xvfb, after the main run
# (its PNGs land in test-output/screenshots/).
SCREENSHOT_TEST := tests/ui/test_screenshots.py

test: system-test lint
	@url=$$(bash tests/tools/start-postgres.sh) && \
	echo "PostgreSQL for the tests: $${url%%:*}://…@$${url##*@}" && \
	WORKSTATION_TEST_PG_URL="$$url" QT_QPA_PLATFORM=offscreen \
	$(BIN)/pytest --ignore=$(SCREENSHOT_TEST) --ignore=tests/soak $(PYTEST_ARGS) && \
	WORKSTATION_TEST_PG_URL="$$url" QT_QPA_PLATFORM=xcb \
	xvfb-run -a -s "-screen 0 1920x1080x24" $(BIN)/pytest $(SCREENSHOT_TEST)

system-bench:
	@bash $(DEB)/ensure-packages.sh $(DEB)/run-packages.txt $(DEB)/bench-packages.txt

bench: system-bench $(VENV)/.stamp-install
	QT_QPA_PLATFORM=offscreen $(BIN)/workstation bench $(BENCH_ARGS)

# make soak — the long runs under fault: a hub killed during 300 concurrent check-ins
# (tests/soak), then 1,000 half-sent requests (`workstation bench --only slow-clients`).
soak: system-test $(VENV)/.stamp-install
	@url=$$(bash tests/tools/start-postgres.sh) && \
	WORKSTATION_TEST_PG_URL="$$url" QT_QPA_PLATFORM=offscreen \
	$(BIN)/pytest -s tests/soak $(PYTEST_ARGS) && \
	QT_QPA_PLATFORM=offscreen $(BIN)/workstation bench --only slow-clients

VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml | head -1)
BUNDLE := dist/workstation
DEB_FILE := dist/workstation_$(VERSION)_amd64.deb
MSI_FILE := dist/Workstation-$(VERSION).msi

system-installers:
	@bash $(DEB)/ensure-packages.sh $(DEB)/run-packages.txt $(DEB)/installers-packages.txt

$(VENV)/.stamp-bundle: pyproject.toml $(VENV)/.stamp-install
	$(BIN)/python -m pip install --quiet -e '.[test,bundle]'
	touch $@

bundle: system-installers $(VENV)/.stamp-bundle
	$(BIN)/pyinstaller --noconfirm --log-level WARN --distpath dist --workpath build/pyinstaller \
		installers/workstation.spec
	@du -sh $(BUNDLE)

deb: bundle
	bash $(DEB)/build-deb.sh $(BUNDLE) dist $(VERSION)

# Here the MSI carries the Linux bundle: it checks the package's tables. The MSI to ship is
# built the same way from the bundle built on Windows (installers/windows/README.md).
msi: bundle
	bash installers/windows/build-msi.sh $(BUNDLE) $(MSI_FILE) $(VERSION)

installers: deb msi
	WORKSTATION_TEST_BUNDLE=$(abspath $(BUNDLE)) WORKSTATION_TEST_DEB=$(abspath $(DEB_FILE)) \
	QT_QPA_PLATFORM=offscreen $(BIN)/pytest -p no:cacheprovider tests/installers $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis .pg-test build dist
