module github.com/gaesession/gaesession/example/e2e

go 1.26

require (
	github.com/chromedp/cdproto v0.159.0
	github.com/chromedp/chromedp v0.23.0
	github.com/gaesession/gaesession v0.0.0
)

require (
	github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect
	github.com/golang/protobuf v1.5.0 // indirect
	github.com/icza/session v1.3.0 // indirect
	google.golang.org/appengine/v2 v2.0.6 // indirect
	google.golang.org/protobuf v1.30.0 // indirect
)

replace github.com/gaesession/gaesession => ../..
