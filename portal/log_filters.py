"""Logging filters: no live token reaches a log line.

Django logs the path of every 4xx and 5xx response (`django.request`) and the development
server every request (`django.server`); a decision or password link's path holds its token,
which would then sit readable in the logs. The filter masks it in the formatted message.
"""

import logging

from notifications.secrets import token_paths_mask


class MaskTokenPaths(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = token_paths_mask(message)
        if masked != message:
            record.msg, record.args = masked, ()
        return True
