"""The digitalización screen (issue 5, item 3): the scanner's hot folder watched on a
worker, each file's outcome, a zoomable preview and manual association."""
