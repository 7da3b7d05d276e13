#!/bin/sh
# PREP: start the program of the same name from the installed bundle (/opt/prep).
exec /opt/prep/@PROGRAM@ "$@"
