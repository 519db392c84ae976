from autogate.cli import main

raise SystemExit(main())
