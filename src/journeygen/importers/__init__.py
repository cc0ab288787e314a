"""Importers: human-labelled step data from elsewhere, turned into our trees."""
