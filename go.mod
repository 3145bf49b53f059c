module github.com/gaesession/gaesession

go 1.23.0

require (
	github.com/icza/session v1.3.0
	github.com/justinas/alice v1.2.0
	google.golang.org/appengine/v2 v2.0.6
	google.golang.org/protobuf v1.30.0
)

require github.com/golang/protobuf v1.5.0 // indirect
