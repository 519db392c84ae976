// The counter camera for the interview's face photo: a frame taken from the camera fills the
// form's file field, so an upload and a camera capture reach central the same way.
(function () {
  "use strict";
  var start = document.getElementById("camera-start");
  var video = document.getElementById("camera");
  var take = document.getElementById("camera-take");
  var file = document.getElementById("face-file");
  if (!start || !video || !take || !file || !navigator.mediaDevices || !window.DataTransfer) {
    if (start) { start.hidden = true; }
    return;
  }
  start.addEventListener("click", function () {
    navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 } }).then(function (stream) {
      video.srcObject = stream;
      video.hidden = false;
      take.hidden = false;
    }).catch(function (err) {
      start.textContent = "Camera unavailable: " + err.name;
    });
  });
  take.addEventListener("click", function () {
    var canvas = document.createElement("canvas");
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    canvas.getContext("2d").drawImage(video, 0, 0);
    canvas.toBlob(function (blob) {
      var transfer = new DataTransfer();
      transfer.items.add(new File([blob], "camera.jpg", { type: "image/jpeg" }));
      file.files = transfer.files;
      take.textContent = "Photo taken: take again";
    }, "image/jpeg", 0.92);
  });
})();
