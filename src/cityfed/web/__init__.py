"""HTML pages (Jinja2) and feeds for people; they share URLs with federation via negotiation."""
