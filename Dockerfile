# tgmon: the watcher and the bot in one process. The database and the Telethon
# session files live in the /data volume; secrets come from the environment.
FROM python:3.11-slim

RUN useradd --create-home --uid 10001 tgmon \
    && mkdir /data && chown tgmon:tgmon /data && chmod 700 /data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY config ./config
COPY storage ./storage
RUN pip install --no-cache-dir . && rm -rf /root/.cache

ENV TGMON_DB=/data/tgmon.db \
    TGMON_SESSION_DIR=/data \
    PYTHONUNBUFFERED=1
VOLUME /data
USER tgmon
ENTRYPOINT ["tgmon"]
CMD ["run"]
