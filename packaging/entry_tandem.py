"""The frozen app's executable: the window, `--self-test`, and the engine child.

On Linux and macOS `tandem-cli` is a link to this same executable (one copy of the
bundled Python code instead of two), so the name it was started by picks the command line.
Before either starts, the default model this build carries is made to appear in the
user's models folder, so the first start works offline.
"""

import multiprocessing
import os
import sys

multiprocessing.freeze_support()  # the engine process: runs it and exits here

if "--self-test" not in sys.argv[1:]:  # the self-test leaves the user's folders alone
    from app.store.paths import app_paths
    from app.library.bundled import install_bundled_default

    install_bundled_default(app_paths().models_dir)

if os.path.basename(sys.argv[0]).startswith("tandem-cli") and "--self-test" not in sys.argv:
    from app.cli import main
else:
    from app.__main__ import main

sys.exit(main())
