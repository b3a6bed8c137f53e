module example.com/app

go 1.26

require example.invalid/nothere v1.0.0
