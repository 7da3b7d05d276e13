"""Digitalización at a station (issue 5, item 3): image quality checks
(:mod:`.quality`), the scanner's hot folder (:mod:`.hotfolder`) and the service that
ties an image to its acta and stores it (:mod:`.service`). Qt-free: the CATD screen
runs these in a worker and shows their Spanish messages."""
