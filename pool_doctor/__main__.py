from pool_doctor.cli import main

main()
