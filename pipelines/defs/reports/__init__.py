"""HTML reports: the marimo notebooks run against the warehouse and exported as static pages."""
