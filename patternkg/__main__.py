from patternkg.cli import main

main()
