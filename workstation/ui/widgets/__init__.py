"""Ground pieces every feature uses and none imports back: bridge, theme, cards, tables."""
