"""Ways to look at trees: the terminal view, the offline HTML report, graph files and plots."""
