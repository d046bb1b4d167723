# PyMySQL stands in for mysqlclient (no C build on the host).
import pymysql

pymysql.install_as_MySQLdb()
