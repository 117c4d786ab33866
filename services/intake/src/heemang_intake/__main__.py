from heemang_intake.cli import main

main()
