"""An example bayestune plug-in package: a selection rule and a score."""
