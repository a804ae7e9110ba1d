"""What a local user or admin can do, one function each; API, web pages and CLI all call these."""
