from heemang_casework.cli import main

main()
