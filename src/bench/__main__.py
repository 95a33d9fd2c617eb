from src.bench.steps import main

main()
