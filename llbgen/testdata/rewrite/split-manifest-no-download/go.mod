module example.com/app

go 1.24

require golang.org/x/text v0.14.0
