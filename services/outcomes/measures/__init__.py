"""The measures the users' documents name, one small module per family; `registry.MEASURES`
lists them all (issue 18)."""
