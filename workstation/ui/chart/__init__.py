"""The patient's chart: record, intake, diagnosis, plan, disposition and sign-off."""
