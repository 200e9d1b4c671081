"""Presenters: turn what the selectors read into the plain data a template prints (rows,
cells, labels, CSS classes, URLs), with no HTML in Python."""
