"""The frozen app's `tandem-cli.exe` on Windows: a console program, unlike tandem.exe, so it
is also where `--self-test` prints its report there."""

import multiprocessing
import sys

multiprocessing.freeze_support()  # the engine process, spawned from this executable

if "--self-test" in sys.argv[1:]:
    from app.__main__ import main
else:
    from app.store.paths import app_paths
    from app.library.bundled import install_bundled_default

    install_bundled_default(app_paths().models_dir)
    from app.cli import main

sys.exit(main())
