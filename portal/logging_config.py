"""The logging configuration: text for people, or JSON lines (`LOG_FORMAT=json`) for a log
platform. Either way each line carries the request id and the signed-in user's id, and the
request loggers' paths are masked (a decision or password link's path holds its token)."""

TEXT_FORMAT = "%(levelname)s %(name)s [%(request_id)s user=%(user_id)s] %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(user_id)s"


def logging_config(*, log_format: str, level: str) -> dict:
    if log_format not in {"text", "json"}:
        raise ValueError(f"LOG_FORMAT must be text or json, not {log_format!r}")
    console_formatter = (
        {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": JSON_FIELDS,
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        }
        if log_format == "json"
        else {"format": TEXT_FORMAT}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "mask_token_paths": {"()": "portal.log_filters.MaskTokenPaths"},
            "request_context": {"()": "monitoring.request_context.RequestContextFilter"},
        },
        "formatters": {
            "console": console_formatter,
            # The development server's request lines, as Django's defaults write them.
            "django.server": {
                "()": "django.utils.log.ServerFormatter",
                "format": "[{server_time}] {message}",
                "style": "{",
            },
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "console",
                "filters": ["request_context", "mask_token_paths"],
            },
            "django.server": {"class": "logging.StreamHandler", "formatter": "django.server"},
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "axes": {"level": "WARNING"},
            "django.request": {"filters": ["mask_token_paths"]},
            "django.server": {
                "handlers": ["django.server"],
                "level": "INFO",
                "propagate": False,
                "filters": ["mask_token_paths"],
            },
        },
    }
