# rewind stack image: every tier's packages, services disabled (tests start them).
FROM local/debian12:base
ENV container=docker DEBIAN_FRONTEND=noninteractive
RUN apt-get update && apt-get install -y --no-install-recommends \
      apache2 libapache2-mod-php nginx php-fpm php-cli php-mysql php-redis php-xml \
      php-mbstring php-curl php-gd php-intl php-zip \
      mariadb-server mariadb-client mariadb-backup mydumper redis-server \
      wordpress python3-venv python3-pip python3-pymysql nodejs npm \
      git curl rsync unzip zstd pigz cron logrotate \
 && systemctl disable apache2 nginx php8.2-fpm mariadb redis-server cron \
 && rm -f /var/cache/apt/archives/*.deb
COPY ca/ /usr/local/share/ca-certificates/
RUN update-ca-certificates
STOPSIGNAL SIGRTMIN+3
CMD ["/sbin/init"]
