from gittask.cli.app import main

main()
