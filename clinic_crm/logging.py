"""Logging helpers that keep patient data out of application logs."""

import logging
import re
from collections.abc import Mapping

_QUERY = re.compile(r"(/[^\s?\"]*)\?[^\s\"]*")


class StripQueryStringFilter(logging.Filter):
    """Removes query strings from request log lines: they may carry search terms
    such as a patient's name or phone number."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, Mapping):  # "%(name)s" style (Celery's task lines)
            record.args = {
                key: _QUERY.sub(r"\1?…", arg) if isinstance(arg, str) else arg
                for key, arg in record.args.items()
            }
        elif record.args:
            record.args = tuple(
                _QUERY.sub(r"\1?…", arg) if isinstance(arg, str) else arg
                for arg in (record.args if isinstance(record.args, tuple) else (record.args,))
            )
        if isinstance(record.msg, str) and "?" in record.msg:
            record.msg = _QUERY.sub(r"\1?…", record.msg)
        return True
