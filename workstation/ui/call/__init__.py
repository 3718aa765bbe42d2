"""The video call: call pane and presenter, video views, the camera and microphone check."""
