module example.com/m

go 1.22

require (
	github.com/a/b v1.0.0
	golang.org/x/c v0.1.0 // indirect
)

replace github.com/a/b => ../b
replace golang.org/x/c v0.1.0 => golang.org/x/c v0.2.0
