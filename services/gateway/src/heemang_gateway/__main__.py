from heemang_gateway.cli import main

main()
