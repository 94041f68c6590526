from openbooks.cli.boundary import main

main()
