"""CCTV face recognition at central (SOP it-05): the face watchlist and its publication to camera
nodes, camera registration, alarm ingestion, the operator's live queue, confirmation into an
it-05 case, dismissals, person flags and the retention of alarm pictures. See docs/cctv.md."""
