# -*- coding: utf-8 -*-
# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  login_user:
    description: Database user. Unset means the client's defaults (e.g. root over the unix socket).
    type: str
  login_password:
    description:
      - Password of O(login_user). Written to a private 0600 option file passed as
        C(--defaults-extra-file), never put on a command line or logged.
    type: str
  login_host:
    description: Server host. Unset means the local server over its unix socket.
    type: str
  login_port:
    description: Server port, with O(login_host).
    type: int
    default: 3306
  login_unix_socket:
    description: Server unix socket.
    type: str
  client_bin_dir:
    description: Folder with the client tools (C(mariadb), C(mariadb-dump) or C(mysql), C(mysqldump)). Default is PATH.
    type: path
"""
