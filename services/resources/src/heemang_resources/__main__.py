from heemang_resources.cli import main

main()
