"""Ways to look at trees: the terminal view (and, later, the HTML report)."""
