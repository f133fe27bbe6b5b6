"""SAN (Guizilini, Ambrus, Burgard, Gaidon, CVPR 2021): sparse auxiliary networks, the sparse
depth encoder (:mod:`.sparse`) and the RGB networks it feeds (:mod:`.resnet`, :mod:`.packnet`)."""
