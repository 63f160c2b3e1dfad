from agent.surfaces.cli import main

raise SystemExit(main())
