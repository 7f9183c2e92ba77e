"""Pure algorithms: no database, no web; plain Python and numpy in, plain values out."""
