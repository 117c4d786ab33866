from heemang_hotline.cli import main

main()
