# Read by gunicorn from the working directory (the Docker image's /app).
bind = "0.0.0.0:8000"
workers = 3
accesslog = "-"
# %(U)s is the path without the query string: search terms (patient names, phones) stay
# out of the access log.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'
