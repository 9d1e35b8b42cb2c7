module example.com/service

go 1.22.1

toolchain go1.22.2

require (
	github.com/gin-gonic/gin v1.9.1
	github.com/google/uuid v1.6.0
	example.com/internal/auth v0.3.0
	golang.org/x/net v0.22.0 // indirect
	github.com/bytedance/sonic v1.11.3 // indirect; pinned for arm64
)

require github.com/stretchr/testify v1.9.0

replace example.com/internal/auth => ../auth

replace golang.org/x/net v0.22.0 => golang.org/x/net v0.23.0

exclude github.com/google/uuid v1.5.0

retract [v0.9.0, v0.9.5] // broken builds
