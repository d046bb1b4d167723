"""rewind: safe, fast rollbacks on Ansible (the CLI side of rewind.rollback)."""

__version__ = "0.1.0"
