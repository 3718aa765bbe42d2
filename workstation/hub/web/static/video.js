// Video page (/v/<token>/video): reserved for the video room. For now it only links back to the
// visit page of the same token (#back_to_visit).

const match = /^\/v\/([^/]+)\/video\/?$/.exec(location.pathname);
const back = document.getElementById("back_to_visit");
if (match && back) back.href = `/v/${match[1]}`;
