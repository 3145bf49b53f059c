module github.com/gaesession/gaesession

go 1.26

require (
	github.com/chromedp/cdproto v0.159.0
	github.com/chromedp/chromedp v0.23.0
	github.com/golang/protobuf v1.5.0
	github.com/icza/session v1.3.0
	github.com/justinas/alice v1.2.0
	google.golang.org/appengine/v2 v2.0.6
)

require (
	github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect
	google.golang.org/protobuf v1.30.0 // indirect
)
