"""The script PyInstaller freezes into the MSI's ``portald.exe`` (on Windows; see the README's "Windows
(MSI)"): the ``portald`` command, as the ``console_scripts`` entry point installs it elsewhere."""
import sys

from portald.cli import main

if __name__ == "__main__":
    sys.exit(main())
