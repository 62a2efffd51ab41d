from codemodkit.cli import main

main()
